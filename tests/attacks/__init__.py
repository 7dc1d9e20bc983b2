"""Hostile and broken submissions for the bulk grader (see ``corpus``)."""
