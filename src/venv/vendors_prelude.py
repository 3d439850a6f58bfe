import os
import site
# The vendors layout: the application at the root, its dependencies in vendors/ (with their
# .pth files), found from where this launcher is, wherever the tree was copied.
_root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
_before = list(sys.path)
site.addsitedir(os.path.join(_root, "vendors"))
sys.path[:] = [_root] + [p for p in sys.path if p not in _before] + _before
