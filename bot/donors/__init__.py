"""The donor side: anonymised cards, browsing, pledging and paying, staff confirmation, thanks.

Command registration lives in bot/roles/donor.py; these modules do the work. Everything a donor
reads about a child comes from storage.anonymise.DonorCard, rendered by cards.py: nothing here
reads a case directly for a donor.
"""
