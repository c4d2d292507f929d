from nablanet.cli import main

raise SystemExit(main())
