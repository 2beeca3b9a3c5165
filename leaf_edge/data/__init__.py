"""Data: the built-in keyword set (generated offline), folder data sets, augmentation."""
