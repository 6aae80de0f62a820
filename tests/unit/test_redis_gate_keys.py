"""The gate scripts' Python side without Redis: key names (one hash slot per activity) and ARGV
in the order the scripts read it."""

import uuid

from entry_service.adapters.redis_gate_scripts import (
    KEY_TTL_S,
    activity_keys,
    admit_args,
    entry_key,
    lock_name,
)


def test_key_names_share_one_hash_slot_per_activity() -> None:
    activity = uuid.uuid4()
    names = [*activity_keys(activity), lock_name(activity)]
    tags = {name[name.index("{") : name.index("}") + 1] for name in names}
    assert tags == {f"{{a:{activity}}}"}
    assert len(set(names)) == 4
    assert activity_keys(activity, prefix="x")[0].startswith("x:")
    assert entry_key(activity) == f"pulse:entry:{activity}"


def test_admit_args_are_in_the_scripts_order() -> None:
    entry_id = uuid.uuid4()
    assert admit_args("ada", "k", entry_id, None, 2) == [
        "ada",
        "ada\x00k",
        str(entry_id),
        -1,
        2,
        KEY_TTL_S,
    ]
    assert admit_args("ada", "k", entry_id, 7, 1)[3] == 7
