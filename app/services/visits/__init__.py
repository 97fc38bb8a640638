"""Steps 2–4: working groups and visit lists, the questionnaire, home visits, campaigns and deadlines.

workgroups.py     working groups per commune, the visit list ordered by address, the printable sheet
addresses.py      address parts (street, ngõ, ngách, số nhà) for ordering a round of visits
questionnaire.py  the survey question set as data: versions, definition, validation
survey.py         recording a home visit under the article's rules
latest.py         the one rule for "the latest visit" of a person
campaigns.py      a deadline per step and each commune's completion of each step

Step 4 (one case type per person, lists per case type) is app/services/cases.py, shared by the dashboard
and the payout sync.
"""
