"""Teams: the Team type, createTeam, updateTeam and deleteTeam."""
