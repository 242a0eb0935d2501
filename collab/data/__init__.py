"""Data: the one contract (`Ratings`, `Split`, `DataError`) and every way to get ratings into it.

Modules, in the order data flows: `source` (where bytes come from), `sniff` (the layout), `read`
(ratings), `items` (titles, genres), `values` (value checks), `movielens`, `demo`, `guards`. This
package's namespace holds the contract only, so `from collab.data import Ratings, DataError` works
without importing the readers.
"""

from collab.data.errors import Arg, DataError, Message, worded
from collab.data.ratings import (
    MAX_RATINGS,
    SPLIT_METHODS,
    Ratings,
    RatingsSummary,
    Split,
    SplitMethod,
    empty_validation_error,
)
from collab.data.values import IMPLICIT_TRANSFORMS, NOT_RATED_CODES, Implicit, check_ratings, transform_counts
from collab.data.vocabulary import label_order

__all__ = [
    "IMPLICIT_TRANSFORMS",
    "MAX_RATINGS",
    "NOT_RATED_CODES",
    "SPLIT_METHODS",
    "Arg",
    "DataError",
    "Implicit",
    "Message",
    "Ratings",
    "RatingsSummary",
    "Split",
    "SplitMethod",
    "check_ratings",
    "empty_validation_error",
    "label_order",
    "transform_counts",
    "worded",
]
