"""Donors: browse anonymised needs, pledge, pay by VietQR, hear back (issue 5)."""
