"""The one access layer (STYLE habit 5): every tenant rule, written once. ``rules`` answers
"may this actor …?"; ``guards`` fetches tenant data for an actor and raises the same
``Http404`` for "missing" and "not yours"; ``logs`` says who reads which security log.
Pages, the API, single sign-on, forward auth and the CLI all ask here."""
