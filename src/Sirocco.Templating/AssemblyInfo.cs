// Sirocco.Templating: see README.md in this folder for what this component owns.
