"""Hand-made outfits as slot lists, for tests of learned outfit slots: dresses with shoes, bags and outerwear,
never with tops or bottoms; tops with bottoms first; no slot repeats but jewellery."""

OUTFITS = (
    4 * [("all-body", "shoes", "bags")]
    + 3 * [("all-body", "shoes", "outerwear")]
    + 5 * [("tops", "bottoms", "shoes")]
    + 3 * [("tops", "bottoms", "shoes", "outerwear", "bags")]
    + 3 * [("tops", "bottoms", "shoes", "jewellery", "jewellery")]
    + 2 * [("tops", "bottoms", "bags")]
)
