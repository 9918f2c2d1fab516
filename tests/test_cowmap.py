from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gitconfig.cowmap import CowMap

operations = st.lists(st.tuples(st.booleans(), st.integers(0, 50), st.integers()), max_size=80)


@given(operations, operations)
def test_behaves_like_a_dict_and_a_copy_never_changes_the_original(
    first: list[tuple[bool, int, int]], second: list[tuple[bool, int, int]]
) -> None:
    cow: CowMap[int, int] = CowMap()
    plain: dict[int, int] = {}
    for cow_map, model, ops in ((cow, plain, first),):
        for put, key, value in ops:
            if put:
                cow_map[key] = model[key] = value
            elif key in model:
                del cow_map[key]
                del model[key]
    assert dict(cow) == plain and len(cow) == len(plain)

    copied = cow.copy()
    frozen = dict(plain)
    for put, key, value in second:
        if put:
            copied[key] = plain[key] = value
        elif key in plain:
            del copied[key]
            del plain[key]
    assert dict(copied) == plain and len(copied) == len(plain)
    assert dict(cow) == frozen and len(cow) == len(frozen)  # the original is untouched
    assert all(cow.get(k) == v for k, v in frozen.items())
    assert cow.get(-1) is None and -1 not in cow
