"""The smoke suite's bugs: one per function of calc.py, each with its one-edit fix
and a plausible wrong fix. Repo calcN holds the first N functions, all buggy."""

from __future__ import annotations

# name, buggy body, fixed body, wrong "fix", test lines
BUGS = [
    ("add", "def add(a, b):\n    return a - b\n", "def add(a, b):\n    return a + b\n",
     "def add(a, b):\n    return a * b\n", "assert add(2, 3) == 5\n    assert add(-1, 1) == 0"),
    ("sub", "def sub(a, b):\n    return a + b\n", "def sub(a, b):\n    return a - b\n",
     "def sub(a, b):\n    return b - a\n", "assert sub(5, 3) == 2"),
    ("mul", "def mul(a, b):\n    return a + b\n", "def mul(a, b):\n    return a * b\n",
     "def mul(a, b):\n    return a ** b\n", "assert mul(3, 4) == 12\n    assert mul(2, 2) == 4"),
    ("div", "def div(a, b):\n    return a * b\n", "def div(a, b):\n    return a / b\n",
     "def div(a, b):\n    return a // b\n", "assert div(7, 2) == 3.5"),
    ("neg", "def neg(a):\n    return a\n", "def neg(a):\n    return -a\n",
     "def neg(a):\n    return abs(a)\n", "assert neg(4) == -4\n    assert neg(-2) == 2"),
    ("square", "def square(a):\n    return a * 2\n", "def square(a):\n    return a * a\n",
     "def square(a):\n    return a + a\n", "assert square(3) == 9"),
    ("clamp", "def clamp(x, lo, hi):\n    return max(lo, x)\n", "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n",
     "def clamp(x, lo, hi):\n    return min(x, hi)\n", "assert clamp(5, 0, 3) == 3\n    assert clamp(-1, 0, 3) == 0"),
    ("mean", "def mean(xs):\n    return sum(xs) / (len(xs) + 1)\n", "def mean(xs):\n    return sum(xs) / len(xs)\n",
     "def mean(xs):\n    return sum(xs) // len(xs)\n", "assert mean([1, 2, 4]) == 7 / 3"),
]


def render_repo(n: int) -> dict[str, str]:
    """The files of repo calc<n> (used once to write the bundled folders; kept for checks)."""
    funcs = BUGS[:n]
    module = '"""Small arithmetic helpers."""\n\n\n' + "\n\n".join(b for _, b, _, _, _ in funcs)
    names = ", ".join(name for name, *_ in funcs)
    tests = f"from calc import {names}\n" + "".join(
        f"\n\ndef test_{name}():\n    {lines}\n" for name, _, _, _, lines in funcs)
    return {"calc.py": module, "test_calc.py": tests,
            "pyproject.toml": f'[project]\nname = "calc{n}"\nversion = "0.0.1"\n\n[tool.pytest.ini_options]\n'
                              'addopts = "-p no:cacheprovider"\n'}
