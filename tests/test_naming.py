from spectroprep.naming import natural_sorted


def test_natural_order_is_total_and_independent_of_input_order():
    names = ["clip10.wav", "a/clip2.wav", "clip2.wav", "clip01.wav", "clip1.wav", "a-b.wav"]
    expected = natural_sorted(names)
    assert expected.index("clip2.wav") < expected.index("clip10.wav")
    assert natural_sorted(reversed(names)) == expected
    assert natural_sorted(sorted(names)) == expected
    assert natural_sorted(["c1", "c01"]) == natural_sorted(["c01", "c1"])
