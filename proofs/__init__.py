"""Machine-checked derivations, one module per statement of gftheory.statements.STATEMENTS.

``PROOFS`` maps statement id → Proof (see gftheory.symbolic.proof); run them with
``gftheory prove`` or ``gftheory.symbolic.run_proofs``."""
from importlib import import_module

MODULES = {
    "F1": "f1_norm_rate", "F1_unit": "f1_unit_norm_rate", "F1_wd": "f1_wd_weight_decay",
    "F2": "f2_loss_rate", "F3": "f3_grad_norm_rate", "F4": "f4_norm_accel",
    "F4_unit": "f4_unit_norm_accel", "F5": "f5_loss_preservation_rate",
    "T0": "t0_origin_expansion", "T1": "t1_removal_loss", "T2": "t2_removal_grad_norm",
    "O2": "o2_loss_preservation", "MASK": "mask_identity", "GRASP_SIGN": "grasp_sign",
    "SCALE_INVARIANT_RANKING": "scale_invariant_ranking", "BN_SCALE": "bn_scale_invariance",
    "BALANCE": "balance", "ELEMENTWISE_BOUND": "elementwise_bound",
}

PROOFS = {sid: import_module(f"proofs.{mod}").PROOF for sid, mod in MODULES.items()}
