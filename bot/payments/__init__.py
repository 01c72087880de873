"""Donations: VietQR payloads and images, so a donor's banking app fills in the transfer for them.

Pure code only: no network, no settings. The account a donation goes to (Decree 93/2021 asks for a
dedicated one) comes from the caller.
"""
