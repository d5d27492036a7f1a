"""`comem view`: a web viewer of run, replay and gateway-session directories, served on loopback or exported as
one HTML file. It reads the files the other commands write and renders them with the code they used."""
