module example.com/root/libs/greet

go 1.26
