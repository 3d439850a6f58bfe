# -*- coding: utf-8 -*-
import re
import sys
#PRELUDE#
from #MODULE# import #IMPORT#
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(#CALL#())
