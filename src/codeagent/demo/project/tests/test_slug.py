from slugkit import slugify


def test_simple_words():
    assert slugify("Hello World") == "hello-world"


def test_accents_are_dropped():
    assert slugify("Crème brûlée") == "creme-brulee"


def test_punctuation_collapses_to_one_dash():
    assert slugify("Hello,  World!") == "hello-world"


def test_no_dashes_at_the_ends():
    assert slugify("  --Ready? Go!--  ") == "ready-go"
