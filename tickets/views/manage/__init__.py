"""Manager screens for what tickets hang off: inboxes and inbox groups, tags, custom statuses,
ticket types, integration accounts, and canned responses (which every agent keeps for
themselves too). ``/app/<org>/manage/…``; views are thin: forms collect, services write."""
