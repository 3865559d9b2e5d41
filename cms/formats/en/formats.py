"""Date and time formats for the admin and the pages: times to the second, in an order that sorts (retry
spacing and processing steps are seconds apart, so minutes are not enough)."""

DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s"
TIME_FORMAT = "H:i:s"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
