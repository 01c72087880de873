"""Operations: back up, restore, rotate the data key, import lists, retention (issue 8)."""
