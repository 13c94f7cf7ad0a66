module maplab/gomaps

go 1.19
