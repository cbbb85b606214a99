"""`status`: every roadmap checklist item checked on the live cluster."""
