"""Every write to a noun that spans apps, in one module per noun (Zulip's
``zerver/actions``): ``users`` (create, invite, details, role, active, email),
``tenants`` (resellers, client accounts, connections, policies), ``credentials``
(passwords, reset and invitation links, what a credential change revokes, locks),
``clients`` (apps that sign in with loginguard). Each action checks its rule
(``access.rules``), makes the change, writes its audit row in the same transaction and
queues its email; pages, the API and the CLI call these and nothing below them."""
