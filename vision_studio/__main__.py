from vision_studio.app import main

if __name__ == "__main__":  # importable without starting the app (e.g. by multiprocessing's spawn)
    raise SystemExit(main())
