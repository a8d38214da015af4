"""The operator web UI's views, one module per area: each view validates a form, makes one service call and
renders; refusals come back next to their field, with what the operator typed kept."""
