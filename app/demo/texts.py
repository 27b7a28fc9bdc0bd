"""Free text for the demo records, written the way practitioners are asked to write about children.

A small share of texts carry the victim-blaming phrases ("placing himself at risk", "lifestyle
choice") that safeguarding partnerships ask staff not to use, so that the quality checks have
something real to find.
"""

from __future__ import annotations

import random
from typing import Any

from app.demo.people import Pick

# (location description, phrase for a summary, A&E assault location type)
PLACES = Pick(
    [
        (("Bus stop", "a bus stop on the main road", "street"), 10),
        (("Park", "the local park", "park"), 10),
        (("Shopping parade", "a takeaway on the shopping parade", "shop"), 7),
        (("Ginnel", "the entrance to a ginnel behind terraced houses", "street"), 7),
        (("School gates", "the school gates", "school"), 5),
        (("Residential address", "a house party", "home"), 5),
        (("Friend's address", "a friend's house", "home"), 4),
        (("Canal towpath", "a bench on the canal towpath", "street"), 3),
        (("Bus station", "Leeds bus station", "public transport"), 3),
        (("Railway station", "Leeds railway station", "public transport"), 2),
        (("Petrol station", "a petrol station forecourt", "street"), 3),
        (("Recreation ground", "the recreation ground", "park"), 5),
        (("Convenience store", "a convenience store", "shop"), 5),
        (("Licensed premises", "a pub car park", "licensed premises"), 2),
        (("Retail park", "a retail park car park", "street"), 3),
        (("Street", "the corner of a residential street", "street"), 12),
    ]
)

_SUMMARIES: dict[str, tuple[str, ...]] = {
    "assault": (
        "{Child} was {attack} by a group of peers at {place} in {ward}. Footage of the assault was "
        "shared on social media. Parent informed; school DSL to be updated.",
        "{Child} reports being assaulted by another young person known to {him} after an ongoing dispute "
        "online. Facial injuries; first aid given at the scene.",
        "{Child} was assaulted on the way home from school at {place}. Injuries to the face and head; "
        "advised to attend A&E.",
    ),
    "wounding": (
        "{Child} sustained {wound} at {place} in {ward} and was taken to St James's Hospital by ambulance. "
        "Scene preserved; house-to-house enquiries and CCTV review under way.",
        "{Child} attended hospital with {wound} after an altercation with a group at {place}. {He} gave a "
        "limited account and is frightened of reprisals.",
        "{Child} sustained {wound} during a dispute between two groups near {place}. Weapon not recovered.",
    ),
    "robbery": (
        "{Child} was approached by {n} males wearing balaclavas at {place}; phone and cash taken {threat}. "
        "Parent present for the account.",
        "{Child}'s bike and phone were taken by a group of young people at {place} in {ward}. Force used. "
        "Possible link to a series of similar robberies in the area.",
    ),
    "weapon_possession": (
        "{Child} was stopped and searched at {place} after a report of a young person with a weapon; {item} was "
        "recovered. Interviewed with an appropriate adult. {He} said {he} carried it for protection.",
        "{Item} found in {his} bag at school; school called police. {Child} disclosed feeling unsafe travelling "
        "through {ward}.",
        "{Item} recovered from a hedge near {place} after {child} was seen discarding it. Concerns about possible "
        "criminal exploitation.",
    ),
    "firearm_offence": (
        "Reports of shots fired at {place} in {ward}. {Child} seen running from the scene; no injuries "
        "reported. Firearm not recovered.",
        "Imitation firearm seen in a video posted on social media by {child}; address search conducted.",
    ),
    "sexual_offence": (
        "{Child} disclosed to a trusted adult a sexual assault by an older peer. Joint visit with children's "
        "social care; ABE interview planned and ISVA support offered.",
    ),
    "affray": (
        "Large group disorder involving young people at {place}. {Child} identified from CCTV. Dispersal order "
        "considered for {ward}.",
    ),
    "threats_to_kill": (
        "{Child} received threats to kill through Snapchat and Instagram from a rival group, including a video "
        "showing a knife. Safety planning with the family under way.",
    ),
    "attempted_murder": (
        "{Child} suffered {wound} at {place} in {ward} and is in a critical but stable condition at St James's "
        "Hospital. Major incident room opened.",
    ),
    "homicide": (
        "A young adult was fatally injured at {place} in {ward}. {Child} was present at the scene and has been "
        "spoken to as part of the investigation. Community tension monitoring in place.",
    ),
    "exploitation": (
        "{Child} was found at a flat in {ward} with cash, two mobile phones and wraps of suspected class A drugs. "
        "Treated as a possible victim of criminal exploitation; NRM referral to be submitted.",
        "{Child} was reported missing for three days and found in {town}; believed to have been moved there to "
        "sell drugs. Return home interview requested.",
    ),
    "other_violence": (
        "{Child} was threatened and pushed by a group of older youths at {place}; phone snatched and later "
        "returned. No injuries.",
    ),
}
# What a weapon did, for the summaries: (wound, attack, threat, item carried).
_WEAPON_WORDS = {
    "knife": (
        "a stab wound to the {body}",
        "threatened with a knife and punched",
        "under threat of a knife",
        "a lock knife",
    ),
    "bladed_article": (
        "a deep cut to the {body}",
        "threatened with a blade and punched",
        "under threat of a machete",
        "a machete",
    ),
    "blunt_instrument": (
        "a head injury from a blow with a metal bar",
        "hit with a metal bar",
        "under threat of a baseball bat",
        "a knuckleduster",
    ),
    "firearm": (
        "a gunshot wound to the {body}",
        "threatened with what looked like a handgun",
        "at gunpoint",
        "an imitation firearm",
    ),
    "corrosive": (
        "burns from a corrosive liquid",
        "sprayed with a corrosive liquid",
        "under threat of a corrosive liquid",
        "a bottle of ammonia",
    ),
    "other": (
        "a cut to the {body} from a broken bottle",
        "hit with a bottle",
        "with threats of violence",
        "a screwdriver",
    ),
    "none": ("a broken jaw after being punched and stamped on", "punched and kicked", "by force", "a weapon"),
    "unknown": ("a wound to the {body}", "assaulted", "with threats of violence", "a weapon"),
}
_BODY = ("leg", "thigh", "arm", "back", "buttock", "hand", "shoulder")
_TOWNS = ("Scarborough", "Hull", "Blackpool", "Grimsby", "Doncaster", "Harrogate")
_BLAMING = (
    "{He} is placing {himself} at risk by associating with older males.",
    "This appears to be a lifestyle choice.",
    "{He} is streetwise and is putting {himself} in these situations.",
    "{He} is choosing to associate with known nominals.",
)
_REASONS = (
    "{Child} was involved in a violent incident in {ward} and is frightened to leave the house. Parents are "
    "worried about retaliation. Requesting a strategy discussion given the escalating pattern of violence.",
    "{Child} disclosed carrying a knife for protection after threats online. Possible criminal exploitation: "
    "new phone, unexplained cash and going missing overnight.",
    "Further incident involving {child} in recent weeks; {he} is known to spend time with older males linked "
    "to drug supply in {ward}. Concerns about criminal exploitation and escalating risk of serious harm.",
    "{Child} was hurt in an assault and did not want to give an account. Mother says {he} has stopped "
    "attending school and is staying out late. Requesting early help and a school safeguarding check.",
    "Officers concerned about home conditions when returning {child} home late at night: no adult present and "
    "little food in the house. Referral for a welfare check and early help.",
)
_THIN_REASONS = (
    "FYI",
    "for info",
    "For information only.",
    "Child involved in incident, see log.",
    "As per crime report.",
)
_VOICES = (
    "Said {he} just wants things to calm down and is scared to walk to school.",
    "Did not want to talk about what happened; said \"I'm fine, it's nothing\".",
    "Said the older lads look after {him} and that {he} owes them money.",
    "Said {he} carries a knife because everyone does and would rather be caught with it than without it.",
    "Told officers {he} wants to stay at {his} nan's tonight and does not feel safe at home.",
    "Said {he} is angry that nobody believes {him} and wants the people who did this to be caught.",
)
_EDUCATION: dict[str, tuple[str, ...]] = {
    "persistent_absence": (
        "Attendance {pct}% this term, with unexplained absences on Mondays and Fridays. Home visit completed; "
        "family engaging with the attendance officer.",
        "Attendance has fallen to {pct}% since the autumn; {he} says {he} does not feel safe on the way to school.",
    ),
    "dsl_concern": (
        "Staff noticed a new phone and expensive trainers; {he} has been seen leaving at lunchtime and getting "
        "into cars. Logged as a concern about possible exploitation.",
        "{Child} disclosed feeling unsafe travelling home through {ward} after threats on social media. Safety "
        "plan agreed with the family.",
        "Rumours on social media of a planned fight with a knife after school; {child} spoken to with a parent "
        "and supported to leave by a different route.",
    ),
    "exclusion_fixed_term": (
        "Suspended for {days} after a physical altercation with another pupil. Reintegration meeting "
        "booked with a parent.",
    ),
    "exclusion_permanent": (
        "Permanently excluded after bringing a bladed article into school. Place at the pupil referral unit "
        "arranged; family offered support through the process.",
    ),
    "managed_move": (
        "Managed move to another school agreed after repeated conflict with a peer group; transition support in place.",
    ),
    "alternative_provision": (
        "Attending alternative provision three days a week; attendance there is good and {he} engages well with "
        "{his} mentor.",
    ),
}
_PRONOUNS = {
    "male": {"he": "he", "He": "He", "him": "him", "his": "his", "himself": "himself"},
    "female": {"he": "she", "He": "She", "him": "her", "his": "her", "himself": "herself"},
}


def _fill(template: str, sex: str, age: int, **extra: Any) -> str:
    article = "an" if age in (8, 11, 18) else "a"
    child = f"{article} {age}-year-old {'boy' if sex == 'male' else 'girl'}"
    return template.format(child=child, Child=child[0].upper() + child[1:], **_PRONOUNS[sex], **extra)


def incident_summary(
    rng: random.Random, category: str, weapon: str | None, sex: str, age: int, place: str, ward: str, blaming: bool
) -> str:
    """A police summary of an incident about its first child; ``blaming`` adds a victim-blaming phrase."""
    wound, attack, threat, item = _WEAPON_WORDS[weapon or "unknown"]
    text = _fill(
        rng.choice(_SUMMARIES[category]),
        sex,
        age,
        place=place,
        ward=ward,
        wound=wound.format(body=rng.choice(_BODY)),
        attack=attack,
        threat=threat,
        item=item,
        Item=item[0].upper() + item[1:],
        n=rng.randint(2, 4),
        town=rng.choice(_TOWNS),
    )
    return f"{text} {_fill(rng.choice(_BLAMING), sex, age)}" if blaming else text


def referral_reason(rng: random.Random, sex: str, age: int, ward: str) -> str | None:
    """A PPN's reason for referral: mostly full, sometimes thin ("FYI"), sometimes missing."""
    u = rng.random()
    if u < 0.1:
        return None
    if u < 0.25:
        return rng.choice(_THIN_REASONS)
    text = _fill(rng.choice(_REASONS), sex, age, ward=ward)
    return f"{text} {_fill(rng.choice(_BLAMING), sex, age)}" if u > 0.97 else text


def voice_of_child(rng: random.Random, sex: str, age: int) -> str:
    """What the child said, in their own words where possible."""
    return _fill(rng.choice(_VOICES), sex, age)


def education_summary(rng: random.Random, report_type: str, sex: str, age: int, ward: str) -> str:
    """A school's summary for one kind of education report."""
    return _fill(
        rng.choice(_EDUCATION[report_type]),
        sex,
        age,
        ward=ward,
        pct=rng.randint(55, 86),
        days=rng.choice(("one day", "two days", "three days", "five days")),
    )
