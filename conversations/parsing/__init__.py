"""Pure parsers for what people type into forms: money, ages, phones, places, day words.

No I/O, no `bot` or `storage` imports: the form engine calls these and turns a `ParseError`
into a polite, translated reply.
"""
