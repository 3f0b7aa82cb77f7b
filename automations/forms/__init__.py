"""Forms of the workflow screens: the builder's state (``builder``), its value and parameter
controls (``widgets``, ``choices``) and the automation settings form (``settings``)."""
