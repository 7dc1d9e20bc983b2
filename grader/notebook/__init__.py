"""What runs in a student's Jupyter kernel or under otter-grader.

- ``check``         ``check()`` in a notebook: grade the notebook's code with the real grader
- ``otter_cases``   the otter test cases' runtime: replay the grader's verdict, refuse foreign cells
- ``extract``       notebook cells ``# [module.py i/n]`` -> exercise modules
- ``otter_plugin``  the otter plugin that grades a submission before otter runs its kernel
"""
