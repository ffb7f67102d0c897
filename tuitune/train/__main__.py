from tuitune.train.worker import main

raise SystemExit(main())
