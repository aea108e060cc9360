import RastroCore
