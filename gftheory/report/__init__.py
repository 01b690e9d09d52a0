"""The claim-by-claim report (``gftheory report``): live proofs and numeric checks, stored runs,
computed verdicts; Markdown + one self-contained HTML page + JSON."""
