"""Command-line front ends of the theory package: one module per ``gftheory`` subcommand
(check, prove, claims, confirm, report), each ``add_arguments(parser)`` and ``run(args) -> int``
over library code; ``gftheory.cli`` imports a module only when its command is used. The
empirical subcommands live in ``empirical.commands`` by the same convention."""
