from calc import add, sub, mul, div, neg, square, clamp, mean


def test_add():
    assert add(2, 3) == 5
    assert add(-1, 1) == 0


def test_sub():
    assert sub(5, 3) == 2


def test_mul():
    assert mul(3, 4) == 12
    assert mul(2, 2) == 4


def test_div():
    assert div(7, 2) == 3.5


def test_neg():
    assert neg(4) == -4
    assert neg(-2) == 2


def test_square():
    assert square(3) == 9


def test_clamp():
    assert clamp(5, 0, 3) == 3
    assert clamp(-1, 0, 3) == 0


def test_mean():
    assert mean([1, 2, 4]) == 7 / 3
