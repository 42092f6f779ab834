import unittest

from slugkit import slugify


class SlugifyTest(unittest.TestCase):
    def test_simple_words(self):
        self.assertEqual(slugify("Hello World"), "hello-world")

    def test_accents_are_dropped(self):
        self.assertEqual(slugify("Crème brûlée"), "creme-brulee")

    def test_punctuation_collapses_to_one_dash(self):
        self.assertEqual(slugify("Hello,  World!"), "hello-world")

    def test_no_dashes_at_the_ends(self):
        self.assertEqual(slugify("  --Ready? Go!--  "), "ready-go")


if __name__ == "__main__":
    unittest.main()
