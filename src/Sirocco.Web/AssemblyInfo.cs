// Sirocco.Web: see README.md in this folder.
