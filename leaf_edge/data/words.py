"""The Speech Commands 12-label task: ten keywords, silence and unknown words."""

from device.contract import SILENCE, UNKNOWN

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
LABELS = (*KEYWORDS, SILENCE, UNKNOWN)
BACKGROUND_NOISE = "_background_noise_"

# Speech Commands' extra words, which its 12-label task calls unknown ...
AUXILIARY_WORDS = (
    "bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine",
    "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero", "backward",
    "forward", "follow", "learn", "visual",
)  # fmt: skip
# ... plus near-misses of the keywords, so that "unknown" is not just "long or odd words".
NEAR_MISSES = (
    "know", "lift", "shop", "of", "app", "yet", "goal", "often", "light", "top", "done", "cup",
)  # fmt: skip
UNKNOWN_WORDS = AUXILIARY_WORDS + NEAR_MISSES
