// Sirocco.Scheduler: see README.md in this folder.
