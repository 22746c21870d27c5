"""Phone numbers as people read them: national format at home, international abroad."""

from __future__ import annotations

import phonenumbers


def display_phone(stored: str | None, region: str) -> str:
    """`stored` (E.164 as saved) formatted for a reader in `region` (an ISO 3166 code).

    A valid number of `region` shows in its national format ("(202) 555-0143" in the US),
    any other valid number in international format ("+44 20 7946 0958"); text that is not
    a valid number (an older row, an import) shows exactly as stored, never hidden.
    """
    if not stored:
        return ""
    try:
        number = phonenumbers.parse(stored, region)
    except phonenumbers.NumberParseException:
        return stored
    if not phonenumbers.is_valid_number(number):
        return stored
    if phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
