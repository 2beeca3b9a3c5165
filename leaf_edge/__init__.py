"""leaf-edge training side: LEAF and mel frontends, classifiers and model assembly.

Importing this package does not import TensorFlow; the submodules that need it do.
"""

__version__ = "0.1.0"
