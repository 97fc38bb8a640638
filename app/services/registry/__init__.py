"""Step 1: the lists of beneficiaries, matched and cleaned against the population registry.

sheets.py      find the table inside a hand-made spreadsheet and map its columns
normalize.py   names, CCCD, dates, phone numbers, legacy encodings: the rules of one value
staging.py     the one staging pipeline of every file import (stream → staging rows → apply)
importing.py   the beneficiary import: upload, validate, preview, apply
reports.py     the import error report (.xlsx)
units.py       unit names and codes as typed in spreadsheets
keys.py        the comparison name key and the natural key of a person
people.py      one person: validated create/edit, end/reinstate, the explicit move
population.py  the population registry behind one interface, and its extract import
matching.py    matching against the registry and the police review
duplicates.py  possible duplicates beyond the CCCD (account, phone, move, category stack) and their decision
"""
