"""Rendering: the plan turned into files (`flux`), and files written safely (`writer`)."""
