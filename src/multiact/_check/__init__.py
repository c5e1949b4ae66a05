"""The conformance machinery shared by ``multiact check`` and ``conformance/``:
mpmath references (``reference``), the installed backends and devices (``targets``), and ulp scoring (``score``)."""
