from vision_studio.app import main

raise SystemExit(main())
