from sigscope.cli import main

raise SystemExit(main())
