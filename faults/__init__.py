"""The fault suite: the local stack under a careful client's steady load, one fault at a time,
then a check that every acknowledged incident had each of its effects exactly once."""
