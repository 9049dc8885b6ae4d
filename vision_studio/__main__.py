from vision_studio.app import main

if __name__ == "__main__":  # the face engine's helper process (spawn) must not start the app again
    raise SystemExit(main())
