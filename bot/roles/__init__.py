"""Command handlers by role: collaborator, donor, staff, and what everyone can do."""
