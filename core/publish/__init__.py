"""Publishing the fix at the DNS host (issue 16): know the host and speak its form's language
(``hosts``), catch the mistakes made in those forms (``mistakes``), see whether a record is live on every
authoritative server (``zone``, ``propagation``), and publish for the user through dns-lexicon (``accounts``,
``lexicon_adapter``, ``plan``, ``journal``, ``flow``). Qt-free, like the rest of the core."""
